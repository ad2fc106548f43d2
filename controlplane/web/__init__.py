"""Server-rendered pages for people: sign-in, sign-out and the home page. The console grows
here (Django templates; htmx later)."""
