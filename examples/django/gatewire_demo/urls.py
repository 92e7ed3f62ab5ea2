from django.urls import path

from demo import views

urlpatterns = [
    path("", views.index, name="index"),
    path("hello/", views.hello, name="hello"),
    path("greet/", views.greet, name="greet"),
    path("api/info/", views.api_info, name="api-info"),
    path("api/echo/", views.api_echo, name="api-echo"),
    path("upload/", views.upload, name="upload"),
    path("stream/", views.stream, name="stream"),
    path("download/", views.download, name="download"),
]
