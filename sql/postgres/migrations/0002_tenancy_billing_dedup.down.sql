DROP TABLE IF EXISTS "DeduplicationPolicies";
DROP TABLE IF EXISTS "BillingUsageLedger";
DROP TABLE IF EXISTS "BillingOperationRates";
DROP TABLE IF EXISTS "BillingRatePlans";
DROP TABLE IF EXISTS "ApiKeys";
