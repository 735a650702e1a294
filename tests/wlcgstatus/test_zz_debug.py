from .test_query_counts import made, measured  # noqa: F401


def test_debug(measured):  # noqa: F811
    for name, queries in made(measured).items():
        if name in ("sites:site_detail", "api:exception-list"):
            print("=====", name)
            for q in queries:
                print("  ", q[:400])
