"""A company file as a new AccountRight file in Australia holds it: a chart of accounts with a
header, GST tax codes, a few suppliers and customers, jobs and categories. UIDs derive from the
file's UID and each record's key, so they are the same after every reset and restart."""

from .company import ACCOUNTS, CATEGORIES, CUSTOMERS, JOBS, SUPPLIERS, TAX_CODES, CompanyFile

# (DisplayID, Name, Classification, Type, IsHeader, IsActive)
CHART = (
    ("1-1110", "Business Bank Account", "Asset", "Bank", False, True),
    ("1-1180", "Business Credit Card", "Liability", "CreditCard", False, True),
    ("1-1200", "Trade Debtors", "Asset", "AccountReceivable", False, True),
    ("2-1510", "Trade Creditors", "Liability", "AccountsPayable", False, True),
    ("4-1000", "Sales", "Income", "Income", False, True),
    ("5-1000", "Cost of Sales", "CostOfSales", "CostOfSales", False, True),
    ("6-1000", "General Expenses", "Expense", "Expense", True, True),
    ("6-1100", "Office Supplies", "Expense", "Expense", False, True),
    ("6-1200", "Rent", "Expense", "Expense", False, True),
    ("6-1300", "Consulting Fees", "Expense", "Expense", False, True),
    ("6-1400", "Utilities", "Expense", "Expense", False, True),
    ("6-1500", "Travel", "Expense", "Expense", False, True),
    ("6-1900", "Old Expenses", "Expense", "Expense", False, False),
)
# (Code, Description, Type, Rate)
TAX = (
    ("GST", "Goods & Services Tax", "GoodsAndServicesTax", 10.0),
    ("FRE", "GST Free", "GoodsAndServicesTax", 0.0),
    ("N-T", "Not Reportable", "GoodsAndServicesTax", 0.0),
)
SUPPLIER_CARDS = (
    ("SUPP000001", "Acme Supplies", True),
    ("SUPP000002", "Office Depot", True),
    ("SUPP000003", "Bright Power", True),
    ("SUPP000004", "Old Supplier", False),
    ("SUPP000005", "Harbour Property Group", True),
)
CUSTOMER_CARDS = (("CUST000001", "Widget Co", True), ("CUST000002", "Harbour Cafe", True))
JOB_LIST = (("100", "Workshop", False), ("200", "Field Service", False), ("900", "All Jobs", True))
CATEGORY_LIST = (("SYD", "Sydney"), ("MEL", "Melbourne"))


def build_company_file(uid: str, name: str, base: str) -> CompanyFile:
    company = CompanyFile(uid=uid, name=name, base=base)

    def put(resource: str, key: str, record: dict) -> None:
        record_uid = company.new_uid(resource, key)
        record = {"UID": record_uid, **record, "URI": company.uri(resource, record_uid)}
        company.records[resource][record_uid] = company.stamp(record)

    for display_id, account_name, classification, kind, header, active in CHART:
        put(
            ACCOUNTS,
            display_id,
            {
                "Name": account_name,
                "DisplayID": display_id,
                "Classification": classification,
                "Type": kind,
                "Number": int(display_id.split("-")[1]),
                "Description": None,
                "ParentAccount": None,
                "IsActive": active,
                "TaxCode": None,
                "Level": 3 if header else 4,
                "IsHeader": header,
            },
        )
    for code, description, kind, rate in TAX:
        put(
            TAX_CODES,
            code,
            {
                "Code": code,
                "Description": description,
                "Type": kind,
                "Rate": rate,
                "IsRateNegative": False,
            },
        )
    for resource, cards in ((SUPPLIERS, SUPPLIER_CARDS), (CUSTOMERS, CUSTOMER_CARDS)):
        for display_id, card_name, active in cards:
            put(
                resource,
                display_id,
                {
                    "CompanyName": card_name,
                    "FirstName": None,
                    "LastName": None,
                    "IsIndividual": False,
                    "DisplayID": display_id,
                    "IsActive": active,
                    "Name": card_name,  # kept for links; not answered (see app.present)
                },
            )
    for number, job_name, header in JOB_LIST:
        put(
            JOBS,
            number,
            {
                "Number": number,
                "Name": job_name,
                "Description": None,
                "IsHeader": header,
                "IsActive": True,
            },
        )
    for display_id, category_name in CATEGORY_LIST:
        put(
            CATEGORIES,
            display_id,
            {
                "DisplayID": display_id,
                "Name": category_name,
                "Description": None,
                "IsInactive": False,
            },
        )
    return company
