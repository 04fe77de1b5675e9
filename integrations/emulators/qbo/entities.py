"""The entities a realm holds and, for each, the fields a write may set and the ones QBO sets
itself (element names of Intuit's XSDs)."""

NAME_LISTS = ("Vendor", "Customer", "Account", "Class", "Department", "Item")


TRANSACTIONS = ("Bill", "BillPayment", "Invoice", "Payment", "Purchase")


ENTITIES = (*NAME_LISTS, *TRANSACTIONS, "Attachable")


# The lower-case resource in the URL (`/v3/company/{realm}/bill`) -> entity name.
RESOURCES = {name.lower(): name for name in ENTITIES}


COMMON = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}


# What each entity takes in a request (read-only fields QBO ignores are in READ_ONLY).
WRITABLE = {
    "Vendor": {
        "DisplayName",
        "CompanyName",
        "GivenName",
        "FamilyName",
        "PrimaryEmailAddr",
        "PrimaryPhone",
        "BillAddr",
        "Active",
        "TaxIdentifier",
        "AcctNum",
        "CurrencyRef",
        "PrintOnCheckName",
        "Vendor1099",
        "TermRef",
    },
    "Customer": {
        "DisplayName",
        "CompanyName",
        "GivenName",
        "FamilyName",
        "PrimaryEmailAddr",
        "PrimaryPhone",
        "BillAddr",
        "ShipAddr",
        "Active",
        "CurrencyRef",
        "Notes",
        "PrintOnCheckName",
    },
    "Account": {
        "Name",
        "AccountType",
        "AccountSubType",
        "AcctNum",
        "Description",
        "Active",
        "CurrencyRef",
        "SubAccount",
        "ParentRef",
    },
    "Class": {"Name", "Active", "SubClass", "ParentRef"},
    "Department": {"Name", "Active", "SubDepartment", "ParentRef"},
    "Item": set(),  # seeded, read only here
    "Bill": {
        "VendorRef",
        "TxnDate",
        "DueDate",
        "DocNumber",
        "CurrencyRef",
        "ExchangeRate",
        "APAccountRef",
        "SalesTermRef",
        "DepartmentRef",
        "PrivateNote",
        "GlobalTaxCalculation",
        "Line",
    },
    "BillPayment": {
        "VendorRef",
        "PayType",
        "TotalAmt",
        "TxnDate",
        "DocNumber",
        "CurrencyRef",
        "CheckPayment",
        "CreditCardPayment",
        "Line",
        "PrivateNote",
        "APAccountRef",
        "DepartmentRef",
        "ExchangeRate",
    },
    "Invoice": {
        "CustomerRef",
        "TxnDate",
        "DueDate",
        "DocNumber",
        "CurrencyRef",
        "ExchangeRate",
        "Line",
        "PrivateNote",
        "CustomerMemo",
        "BillEmail",
        "SalesTermRef",
        "DepartmentRef",
        "GlobalTaxCalculation",
        "ARAccountRef",
    },
    "Payment": {
        "CustomerRef",
        "TotalAmt",
        "TxnDate",
        "PaymentRefNum",
        "DepositToAccountRef",
        "Line",
        "CurrencyRef",
        "PrivateNote",
        "ARAccountRef",
        "PaymentMethodRef",
        "ExchangeRate",
    },
    # An expense, check or card charge: money spent from a bank or card account at once.
    "Purchase": {
        "PaymentType",
        "AccountRef",
        "EntityRef",
        "Credit",
        "TxnDate",
        "DocNumber",
        "CurrencyRef",
        "ExchangeRate",
        "DepartmentRef",
        "PrivateNote",
        "PaymentRefNum",
        "PaymentMethodRef",
        "GlobalTaxCalculation",
        "Line",
    },
    "Attachable": {"FileName", "ContentType", "AttachableRef", "Note", "Category", "Tag"},
}


READ_ONLY = {
    "Bill": {"TotalAmt", "Balance", "LinkedTxn", "HomeBalance"},
    "Invoice": {"TotalAmt", "Balance", "LinkedTxn", "HomeBalance"},
    "Purchase": {"TotalAmt"},
    "Vendor": {"Balance"},
    "Customer": {"Balance", "FullyQualifiedName"},
    "Account": {"FullyQualifiedName", "Classification", "CurrentBalance"},
    "Class": {"FullyQualifiedName"},
    "Department": {"FullyQualifiedName"},
    "Attachable": {"Size", "FileAccessUri", "TempDownloadUri"},
}


CLASSIFICATION = {
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Equity": "Equity",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Long Term Liability": "Liability",
    "Other Current Liability": "Liability",
    "Income": "Revenue",
    "Other Income": "Revenue",
}


DOC_NUMBER_MAX = 21


# The account a Purchase is spent from, by its PaymentType (Intuit: "Cash and Check should have
# bank account, CreditCard should specify credit card account").
PURCHASE_ACCOUNT_TYPES = {"Cash": ("Bank",), "Check": ("Bank",), "CreditCard": ("Credit Card",)}


# What a paying transaction is called in the paid document's LinkedTxn (unverified against
# Intuit: the names its UI uses).
PAYMENT_TXN_TYPE = {"Check": "BillPaymentCheck", "CreditCard": "BillPaymentCreditCard"}
