from django.urls import path

from partners import views

app_name = "partners"

urlpatterns = [
    path("<str:token>/", views.ConnectLinkView.as_view(), name="connect"),
]
