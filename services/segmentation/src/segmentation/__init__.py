"""Segmentation: groups customers by how they actually pay, and explains every decision."""
