from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """?page=N, 50 rows to a page unless ?page_size= asks for another number, up to 500. A
    page past the last is 404."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = "The page, from 1; a page past the last is 404."
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = (f"Rows per page: {self.get_page_size_default()} "
                                            f"unless given, at most {self.max_page_size}.")
        return parameters

    def get_page_size_default(self) -> int:
        return self.page_size
