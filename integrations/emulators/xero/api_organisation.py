"""Accounting API handlers for the organisation and its lists: accounts, contacts, tracking
categories, tax rates."""

from werkzeug.wrappers import Response

from . import seed, wire
from .api_call import (
    ApiCall,
    batch_response,
    csv_values,
    flag_value,
    listed,
    request_elements,
    where_filtered,
)
from .responses import not_found


def get_organisation(call: ApiCall) -> Response:
    tenant = call.tenant
    organisation = {
        "OrganisationID": tenant.tenant_id,
        "Name": tenant.name,
        "LegalName": tenant.name,
        "PaysTax": True,
        "Version": "US",
        "OrganisationType": "COMPANY",
        "BaseCurrency": tenant.base_currency,
        "CountryCode": "US",
        "IsDemoCompany": True,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 12,
        "CreatedDateUTC": wire.ms_timestamp(tenant.created),
        "ShortCode": "!" + tenant.tenant_id[:5],
        "Class": "DEMO",
        "Edition": "BUSINESS",
    }
    if tenant.lock_date:
        organisation["PeriodLockDate"] = wire.ms_date(tenant.lock_date)
    if tenant.end_of_year_lock_date:
        organisation["EndOfYearLockDate"] = wire.ms_date(tenant.end_of_year_lock_date)
    return call.ok("Organisations", [organisation])


def get_accounts(call: ApiCall) -> Response:
    items = [
        wire.account_json(a, base_currency=call.tenant.base_currency)
        for a in call.tenant.accounts.values()
    ]
    items = where_filtered(call, items)
    return items if isinstance(items, Response) else call.ok("Accounts", items)


def get_contacts(call: ApiCall) -> Response:
    args = call.request.args
    contacts = list(call.tenant.contacts.values())
    ids = set(csv_values(args.get("IDs")))
    if ids:  # asked for by id: archived ones are returned too
        contacts = [c for c in contacts if c.contact_id in ids]
    elif not flag_value(args.get("includeArchived"), False):
        contacts = [c for c in contacts if c.status != "ARCHIVED"]
    return listed(call, "Contacts", contacts, wire.contact_json)


def get_contact(call: ApiCall, contact_id: str) -> Response:
    """getContact (and getContactByContactNumber, which shares the path): archived ones too."""
    contacts = call.tenant.contacts
    contact = contacts.get(contact_id) or next(
        (c for c in contacts.values() if c.contact_number and c.contact_number == contact_id),
        None,
    )
    if contact is None:
        return not_found()
    return call.ok("Contacts", [wire.contact_json(contact)])


def put_contacts(call: ApiCall) -> Response:
    elements = request_elements(call, "Contacts")
    if isinstance(elements, Response):
        return elements
    summarize = flag_value(call.request.args.get("summarizeErrors"), True)
    results = call.ledger().create_contacts(elements, summarize_errors=summarize)
    return batch_response(
        call,
        "Contacts",
        results,
        wire.contact_json,
        summarize=summarize,
        id_field="ContactID",
        flag="HasValidationErrors",
    )


def get_tracking_categories(call: ApiCall) -> Response:
    include_archived = flag_value(call.request.args.get("includeArchived"), False)
    categories = [
        c for c in call.tenant.tracking.values() if include_archived or c.status == "ACTIVE"
    ]
    items = [wire.tracking_category_json(c, include_archived=include_archived) for c in categories]
    items = where_filtered(call, items)
    return items if isinstance(items, Response) else call.ok("TrackingCategories", items)


def get_tax_rates(call: ApiCall) -> Response:
    """getTaxRates: the seeded rates, in Xero's wire format (numbers with four decimals)."""
    items = [
        {
            "Name": name,
            "TaxType": tax_type,
            "ReportTaxType": tax_type,
            **{
                f"CanApplyTo{kind}": kind in applies_to
                for kind in ("Assets", "Equity", "Expenses", "Liabilities", "Revenue")
            },
            "DisplayTaxRate": float(rate),
            "EffectiveRate": float(rate),
            "Status": status,
            "TaxComponents": [{"Name": "Sales Tax", "Rate": float(rate), "IsCompound": False}],
        }
        for name, tax_type, rate, status, applies_to in seed.TAX_RATES
    ]
    items = where_filtered(call, items)
    return items if isinstance(items, Response) else call.ok("TaxRates", items)
