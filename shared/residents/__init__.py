"""Residents' accounts: WeChat mini-program login, data export and deletion on request."""
