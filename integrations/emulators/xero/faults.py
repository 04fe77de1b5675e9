"""Xero's own injected fault beside the shared ones (common/faults.py): a token endpoint that
answers 200 without an access_token."""

from dataclasses import dataclass

from ..common.faults import Fault, Faults, FaultSettings

__all__ = ["Fault", "XeroFaultSettings", "XeroFaults"]


@dataclass
class XeroFaultSettings(FaultSettings):
    # The next N answers of the token endpoint are 200 without an access_token (a broken proxy
    # or identity service): the client must say so, not crash.
    token_without_access_token_next: int = 0


class XeroFaults(Faults):
    settings_class = XeroFaultSettings

    def take_token_fault(self) -> bool:
        if self.settings.token_without_access_token_next:
            self.settings.token_without_access_token_next -= 1
            return True
        return False
