"""Cursor pagination on every list: stable while rows are added, no page-count query."""

import re

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

DIGITS = re.compile(r"[0-9]{1,18}")
INVALID_CURSOR = "Invalid cursor: pass back the `next` or `previous` link as given."


class ApiCursorPagination(CursorPagination):
    # Newest first by id: unique and never changes, so a cursor never skips or repeats a row.
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request):
        # A bad cursor is bad input (400), not a missing resource.
        try:
            cursor = super().decode_cursor(request)
        except (NotFound, UnicodeError):
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from None
        if (
            cursor is not None
            and cursor.position is not None
            and not DIGITS.fullmatch(cursor.position)
        ):
            # The position is compared with the id column: it must be a number.
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]})
        return cursor

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                # What get_page_size enforces (400 outside it).
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_page_size} (default {self.page_size})."
                )
        return parameters

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (DIGITS.fullmatch(raw) and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Use a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return super().get_page_size(request)
