"""The in-app inbox and the outbound deliveries (webhook, WeChat template messages)."""
