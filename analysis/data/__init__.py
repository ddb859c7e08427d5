"""Small reference tables the report needs, kept as Python so they ship with the package."""
