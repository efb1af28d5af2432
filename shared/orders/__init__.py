"""你点我送: residents and communities order catalogue items (or ask for something custom), and vote on proposals."""
