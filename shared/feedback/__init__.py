"""Ratings of orders, bookings and activities, free feedback with replies, and satisfaction per unit."""
