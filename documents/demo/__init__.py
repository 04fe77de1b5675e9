"""The demo data of `manage.py seed_demo`: plan (what it holds) and seeder (how it is written)."""
