from django.urls import path

from controlplane.sessions import apis

urlpatterns = [
    path("sessions", apis.SessionListApi.as_view(), name="sessions"),
    path(
        "sessions/<str:session_id>/terminate",
        apis.SessionTerminateApi.as_view(),
        name="session-terminate",
    ),
]
