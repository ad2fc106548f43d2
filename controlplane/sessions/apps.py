from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "controlplane.sessions"
    # django.contrib.sessions already owns the label "sessions".
    label = "gatehouse_sessions"
    verbose_name = "Gateway sessions"
