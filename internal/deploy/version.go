package deploy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MinSQLServerMajor is the oldest SQL Server hartd deploys to: 2022 (16.x).
// Its schema uses ISJSON(…, OBJECT) and its procedures GENERATE_SERIES, both
// new in SQL Server 2022 (the latter at compatibility level 160).
const MinSQLServerMajor = 16

// ErrServerVersion is returned (wrapped) by CheckSQLServerVersion.
var ErrServerVersion = errors.New("deploy: unsupported SQL Server version")

// SQLServerVersion is what @@VERSION says of a server.
type SQLServerVersion struct {
	// Product is the first line of @@VERSION up to the version number,
	// e.g. "Microsoft SQL Server 2022 (RTM-CU10) (KB5031778)".
	Product string
	// Major, Minor, Build are the engine version, e.g. 16, 0, 4095.
	Major, Minor, Build int
	// Azure is true for Azure SQL Database and Managed Instance, whose
	// engine is always current whatever its version number says (12.0).
	Azure bool
}

var versionRE = regexp.MustCompile(`^(.*?)\s+-\s+(\d+)\.(\d+)\.(\d+)(?:\.\d+)?`)

var releaseYear = map[int]string{9: "2005", 10: "2008", 11: "2012", 12: "2014", 13: "2016", 14: "2017", 15: "2019", 16: "2022", 17: "2025"}

// ParseSQLServerVersion reads the first line of @@VERSION.
func ParseSQLServerVersion(atAtVersion string) (SQLServerVersion, error) {
	line, _, _ := strings.Cut(strings.TrimSpace(atAtVersion), "\n")
	m := versionRE.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil || !strings.Contains(m[1], "SQL") {
		return SQLServerVersion{}, fmt.Errorf("%w: cannot read a version from @@VERSION %q", ErrServerVersion, line)
	}
	v := SQLServerVersion{Product: m[1], Azure: strings.Contains(m[1], "Azure")}
	v.Major, _ = strconv.Atoi(m[2])
	v.Minor, _ = strconv.Atoi(m[3])
	v.Build, _ = strconv.Atoi(m[4])
	return v, nil
}

func (v SQLServerVersion) String() string {
	return fmt.Sprintf("%s %d.%d.%d", v.Product, v.Major, v.Minor, v.Build)
}

// CheckSQLServerVersion parses @@VERSION and returns an error wrapping
// ErrServerVersion for a server older than SQL Server 2022 (16.x).
func CheckSQLServerVersion(atAtVersion string) (SQLServerVersion, error) {
	v, err := ParseSQLServerVersion(atAtVersion)
	if err != nil {
		return v, err
	}
	if v.Azure || v.Major >= MinSQLServerMajor {
		return v, nil
	}
	name := fmt.Sprintf("version %d.%d", v.Major, v.Minor)
	if y, ok := releaseYear[v.Major]; ok {
		name = fmt.Sprintf("SQL Server %s (%d.x)", y, v.Major)
	}
	return v, fmt.Errorf("%w: the server is %s; hartd needs SQL Server 2022 (16.x) or later, "+
		"whose ISJSON(…, OBJECT) and GENERATE_SERIES its schema and procedures use", ErrServerVersion, name)
}
