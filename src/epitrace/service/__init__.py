"""What API routes and pages share: who is calling, and one error shape (page or JSON by router).

Neither ``api`` nor ``web`` imports the other; ``api._app`` composes both into one application.
"""
