"""Inverse-problem methods, one module each, declared in ``registry.py``."""
