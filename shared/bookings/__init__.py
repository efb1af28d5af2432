"""Venue booking (场馆预约): slots from opening hours, bookings that never overlap, check-in and no-shows."""
