"""Pagination for list endpoints, and the one helper thin list views call."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination, CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView


class PagePagination(PageNumberPagination):
    """``?page=N&page_size=M``; body {count, next, previous, results}."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class NewestFirstCursorPagination(CursorPagination):
    """Stable pages over a growing, newest-first log; body {next, previous, results}."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = ("-occurred_at", "-id")


def paginated_response(
    *,
    view: APIView,
    request: Request,
    queryset: QuerySet[Any],
    serializer_class: type[Serializer[Any]],
) -> Response:
    """One page of ``queryset`` serialised with ``serializer_class``."""
    paginator: BasePagination = view.pagination_class()  # type: ignore[attr-defined]
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
