"""The seeded company: a chart of accounts, vendors, customers, classes, locations and items.
Built through the same write rules as the API, so ids are stable across resets and restarts."""

from .books import Books, Realm, created

ACCOUNTS = [
    ("Checking", "Bank", "Checking", "1010"),
    ("Savings", "Bank", "Savings", "1020"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "1200"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "1100"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "2000"),
    ("Mastercard", "Credit Card", "CreditCard", "2100"),
    ("Office Supplies", "Expense", "OfficeGeneralAdministrativeExpenses", "6100"),
    ("Rent or Lease", "Expense", "RentOrLeaseOfBuildings", "6200"),
    ("Utilities", "Expense", "Utilities", "6300"),
    ("Legal & Professional Fees", "Expense", "LegalProfessionalFees", "6400"),
    ("Travel", "Expense", "Travel", "6500"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "5000"),
    ("Services", "Income", "ServiceFeeIncome", "4000"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome", "4100"),
    ("Old Expenses", "Expense", "OtherMiscellaneousServiceCost", "6900"),
]
INACTIVE_ACCOUNTS = {"Old Expenses"}
VENDORS = ["Office Supplies Ltd", "City Power & Light", "Brosnahan Insurance Agency", "Old Vendor"]
INACTIVE_VENDORS = {"Old Vendor"}
CUSTOMERS = ["Amy's Bird Sanctuary", "Bill's Windsurf Shop", "Cool Cars"]
CLASSES = ["Operations", "Sales", "Marketing"]
DEPARTMENTS = ["Head Office", "Warehouse"]
ITEMS = [("Services", "Service", "Services"), ("Hours", "Service", "Services")]


def build_realm(realm_id: str, name: str, *, now: float) -> Realm:
    realm = Realm(realm_id=realm_id, name=name, created=now)
    books = Books(realm, now)
    accounts = {}
    for account_name, account_type, sub_type, number in ACCOUNTS:
        account = books.create(
            "Account",
            {
                "Name": account_name,
                "AccountType": account_type,
                "AccountSubType": sub_type,
                "AcctNum": number,
            },
        )
        accounts[account_name] = account["Id"]
    for vendor in VENDORS:
        books.create("Vendor", {"DisplayName": vendor, "CompanyName": vendor})
    for customer in CUSTOMERS:
        books.create("Customer", {"DisplayName": customer})
    for name_ in CLASSES:
        books.create("Class", {"Name": name_})
    for name_ in DEPARTMENTS:
        books.create("Department", {"Name": name_})
    for item_name, item_type, income in ITEMS:
        item_id = realm.new_id()
        realm.entities["Item"][item_id] = {
            **created(item_id, "2026-01-01T00:00:00.000-08:00"),
            "Name": item_name,
            "FullyQualifiedName": item_name,
            "Active": True,
            "Type": item_type,
            "IncomeAccountRef": {"value": accounts[income], "name": income},
        }
    for stored in realm.entities["Account"].values():
        if stored["Name"] in INACTIVE_ACCOUNTS:
            stored["Active"] = False
    for stored in realm.entities["Vendor"].values():
        if stored["DisplayName"] in INACTIVE_VENDORS:
            stored["Active"] = False
    realm.writes.clear()
    return realm
