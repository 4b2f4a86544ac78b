"""What the API routes and the pages share: who is calling (sessions, tokens, CSRF, roles) and how
errors answer (one shape, page or JSON by router). Neither ``api`` nor ``web`` imports the other;
``api._app`` composes both into one application."""
