"""The demo organisation every emulator starts with.

Ids are derived from names (uuid5), so they stay the same across resets and process restarts:
a demo connection or a test can keep referring to "the Demo Company tenant" or "account 429".
"""

import uuid

from .models import Account, Contact, Tenant, TrackingCategory, TrackingOption

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ledgersync.local/emulators/xero")

# code, name, type, class, tax type, status
CHART_OF_ACCOUNTS = [
    ("090", "Business Bank Account", "BANK", "ASSET", "NONE", "ACTIVE"),
    ("091", "Business Savings Account", "BANK", "ASSET", "NONE", "ACTIVE"),
    ("200", "Sales", "REVENUE", "REVENUE", "OUTPUT", "ACTIVE"),
    ("260", "Other Revenue", "REVENUE", "REVENUE", "OUTPUT", "ACTIVE"),
    ("400", "Advertising", "EXPENSE", "EXPENSE", "INPUT", "ACTIVE"),
    ("412", "Consulting & Accounting", "EXPENSE", "EXPENSE", "INPUT", "ACTIVE"),
    ("429", "General Expenses", "EXPENSE", "EXPENSE", "INPUT", "ACTIVE"),
    ("445", "Light, Power, Heating", "EXPENSE", "EXPENSE", "INPUT", "ACTIVE"),
    ("469", "Rent", "EXPENSE", "EXPENSE", "INPUT", "ACTIVE"),
    ("477", "Wages", "EXPENSE", "EXPENSE", "NONE", "ARCHIVED"),
    ("485", "Subscriptions", "EXPENSE", "EXPENSE", "INPUT", "ACTIVE"),
    ("489", "Telephone & Internet", "EXPENSE", "EXPENSE", "INPUT", "ACTIVE"),
    ("493", "Travel - National", "EXPENSE", "EXPENSE", "INPUT", "ACTIVE"),
    ("610", "Accounts Receivable", "CURRENT", "ASSET", "NONE", "ACTIVE"),
    ("800", "Accounts Payable", "CURRLIAB", "LIABILITY", "NONE", "ACTIVE"),
    ("820", "Sales Tax", "CURRLIAB", "LIABILITY", "NONE", "ACTIVE"),
]

# name, status, is_supplier, is_customer
CONTACTS = [
    ("ABC Furniture", "ACTIVE", True, False),
    ("Office Supplies Ltd", "ACTIVE", True, False),
    ("PowerDirect", "ACTIVE", True, False),
    ("Telco Ltd", "ACTIVE", True, False),
    ("City Cleaning Services", "ACTIVE", True, False),
    ("Bayside Club", "ACTIVE", False, True),
    ("Old Vendor Inc", "ARCHIVED", True, False),
]

# A US organisation's tax rates: name, TaxType, rate (percent), status, what it applies to
TAX_RATES = [
    ("Tax Exempt", "NONE", "0.0000", "ACTIVE", ("Expenses", "Revenue", "Assets", "Liabilities")),
    ("Tax on Purchases", "INPUT", "8.5000", "ACTIVE", ("Expenses", "Assets")),
    ("Tax on Sales", "OUTPUT", "8.5000", "ACTIVE", ("Revenue",)),
    ("Sales Tax on Imports", "GSTONIMPORTS", "0.0000", "ACTIVE", ("Liabilities",)),
]

TRACKING = {"Department": ["Sales", "Operations", "Finance", "Engineering", "Marketing"]}


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def build_tenant(name: str, *, now: float, base_currency: str, tenant_id: str | None = None):
    """A tenant with the demo chart of accounts, contacts and tracking categories."""
    tenant_id = tenant_id or stable_id("tenant", name)
    tenant = Tenant(tenant_id=tenant_id, name=name, created=now, base_currency=base_currency)
    for code, account_name, type_, class_, tax_type, status in CHART_OF_ACCOUNTS:
        account = Account(
            account_id=stable_id(tenant_id, "account", code),
            code=code,
            name=account_name,
            type=type_,
            account_class=class_,
            tax_type=tax_type,
            status=status,
            updated=now,
            bank_account_number="12-3456-7890123-00" if type_ == "BANK" else None,
        )
        tenant.accounts[account.account_id] = account
    for contact_name, status, is_supplier, is_customer in CONTACTS:
        contact = Contact(
            contact_id=stable_id(tenant_id, "contact", contact_name),
            name=contact_name,
            status=status,
            is_supplier=is_supplier,
            is_customer=is_customer,
            updated=now,
        )
        tenant.contacts[contact.contact_id] = contact
    for category_name, option_names in TRACKING.items():
        category_id = stable_id(tenant_id, "tracking", category_name)
        options = [
            TrackingOption(option_id=stable_id(category_id, option), name=option)
            for option in option_names
        ]
        category = TrackingCategory(category_id=category_id, name=category_name, options=options)
        tenant.tracking[category_id] = category
    return tenant
