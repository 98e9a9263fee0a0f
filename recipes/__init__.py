"""Recipes shipped with ftx, as package data."""
