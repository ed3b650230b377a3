package deploy

import (
	"errors"
	"strings"
	"testing"
)

// @@VERSION as the servers print it (first lines).
const (
	version2017  = "Microsoft SQL Server 2017 (RTM-CU31) (KB5016884) - 14.0.3456.2 (X64) \n\tSep  2 2022 11:01:50 \n\tCopyright (C) 2017 Microsoft Corporation\n\tDeveloper Edition (64-bit) on Linux (Ubuntu 18.04.6 LTS)"
	version2019  = "Microsoft SQL Server 2019 (RTM-CU22-GDR) (KB5029378) - 15.0.4326.1 (X64) \n\tAug 18 2023 14:05:15 \n\tCopyright (C) 2019 Microsoft Corporation\n\tDeveloper Edition (64-bit) on Linux (Ubuntu 20.04.6 LTS) <X64>"
	version2022  = "Microsoft SQL Server 2022 (RTM-CU10) (KB5031778) - 16.0.4095.4 (X64) \n\tOct 30 2023 16:12:44 \n\tCopyright (C) 2022 Microsoft Corporation\n\tDeveloper Edition (64-bit) on Linux (Ubuntu 22.04.3 LTS) <X64>"
	version2025  = "Microsoft SQL Server 2025 (RTM) - 17.0.1000.7 (X64) \n\tOct 21 2025 12:05:57 \n\tCopyright (C) 2025 Microsoft Corporation\n\tEnterprise Developer Edition (64-bit) on Linux (Ubuntu 24.04.3 LTS) <X64>"
	versionAzure = "Microsoft SQL Azure (RTM) - 12.0.2000.8 \n\tOct  2 2025 12:02:35 \n\tCopyright (C) 2022 Microsoft Corporation"
	version2008  = "Microsoft SQL Server 2008 R2 (SP3) - 10.50.6000.34 (X64) \n\tAug 19 2014 12:21:34 \n\tCopyright (c) Microsoft Corporation\n\tExpress Edition with Advanced Services (64-bit)"
)

func TestCheckSQLServerVersion(t *testing.T) {
	tests := []struct {
		in     string
		ok     bool
		major  int
		build  int
		reason string
	}{
		{version2022, true, 16, 4095, ""},
		{version2025, true, 17, 1000, ""},
		{versionAzure, true, 12, 2000, ""},
		{version2019, false, 15, 4326, "SQL Server 2019 (15.x)"},
		{version2017, false, 14, 3456, "SQL Server 2017 (14.x)"},
		{version2008, false, 10, 6000, "SQL Server 2008 (10.x)"},
	}
	for _, tc := range tests {
		v, err := CheckSQLServerVersion(tc.in)
		if v.Major != tc.major || v.Build != tc.build {
			t.Errorf("%.40q: version %d.%d.%d, want major %d build %d", tc.in, v.Major, v.Minor, v.Build, tc.major, tc.build)
		}
		switch {
		case tc.ok && err != nil:
			t.Errorf("%.40q: %v", tc.in, err)
		case !tc.ok && (!errors.Is(err, ErrServerVersion) || !strings.Contains(err.Error(), tc.reason) || !strings.Contains(err.Error(), "2022 (16.x)")):
			t.Errorf("%.40q: err = %v, want ErrServerVersion naming %q and the minimum", tc.in, err, tc.reason)
		}
	}
	for _, bad := range []string{"", "PostgreSQL 15.4 on x86_64", "Microsoft SQL Server vNext"} {
		if _, err := CheckSQLServerVersion(bad); !errors.Is(err, ErrServerVersion) {
			t.Errorf("CheckSQLServerVersion(%q) = %v, want ErrServerVersion", bad, err)
		}
	}
}
