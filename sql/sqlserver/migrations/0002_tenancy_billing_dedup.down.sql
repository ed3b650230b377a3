DROP TABLE dbo.DeduplicationPolicies;
DROP TABLE dbo.BillingUsageLedger;
DROP TABLE dbo.BillingOperationRates;
DROP TABLE dbo.BillingRatePlans;
DROP TABLE dbo.ApiKeys;
