"""Cultural volunteers (文化志愿者): registration with consent, teams and confirmed service hours."""
