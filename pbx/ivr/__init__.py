"""Menus, the prompt catalogue and audio conversion (prompts are referenced by key from flows)."""
