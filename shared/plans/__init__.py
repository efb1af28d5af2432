"""Creation plans (创建方案/规划) and their phases."""
