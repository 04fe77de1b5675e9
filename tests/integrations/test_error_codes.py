"""Every connector error is recorded under a status code of DESIGN §5: the engine, the pages and
the webhooks label an attempt's or a run's code without a fallback for an unknown one."""

from integrations.connectors import errors
from synclog.models import StatusCode


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_connector_error_has_a_status_code_of_the_design():
    classes = [errors.ConnectorError, *_subclasses(errors.ConnectorError)]
    assert len(classes) > 10  # the whole hierarchy, not only the base class
    assert {cls.__name__: cls.status_code in StatusCode.values for cls in classes} == {
        cls.__name__: True for cls in classes
    }
