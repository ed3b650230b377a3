package server

import (
	"context"
	"fmt"
	"time"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/tenant"
)

var errNoBilling = fmt.Errorf("%w: this server has no billing store", engine.ErrUnimplemented)

// GetUsage implements the RPC: the caller's tenant's ledger only.
func (s *Service) GetUsage(ctx context.Context, req *pb.GetUsageRequest) (*pb.GetUsageResponse, error) {
	if s.bill == nil {
		return nil, toStatus(s.log, "GetUsage", errNoBilling)
	}
	id := tenant.From(ctx)
	from, to := time.Unix(0, 0).UTC(), time.Now().UTC().Add(time.Second)
	if req.GetFrom() != nil {
		from = req.GetFrom().AsTime()
	}
	if req.GetTo() != nil {
		to = req.GetTo().AsTime()
	}
	if !to.After(from) {
		return nil, toStatus(s.log, "GetUsage", &engine.FieldError{Field: "to", Err: fmt.Errorf("%w: %s is not after from %s", engine.ErrInvalid, to.Format(time.RFC3339), from.Format(time.RFC3339))})
	}
	group := store.GroupByOperation
	switch req.GetGroupBy() {
	case pb.UsageGroupBy_USAGE_GROUP_BY_UNSPECIFIED, pb.UsageGroupBy_USAGE_GROUP_BY_OPERATION:
	case pb.UsageGroupBy_USAGE_GROUP_BY_DAY:
		group = store.GroupByDay
	default:
		return nil, toStatus(s.log, "GetUsage", &engine.FieldError{Field: "group_by", Err: fmt.Errorf("%w: unknown grouping %d", engine.ErrInvalid, req.GetGroupBy())})
	}
	rows, err := s.bill.Store.Usage(ctx, id.Tenant, from, to, group)
	if err != nil {
		return nil, toStatus(s.log, "GetUsage", err)
	}
	out := &pb.GetUsageResponse{Tenant: id.TenantName, Lines: make([]*pb.UsageLine, len(rows))}
	for i, r := range rows {
		out.Lines[i] = &pb.UsageLine{Group: r.Group, Records: uint64(r.Records), Units: r.Units, Dcu: r.DCU, Cost: r.Cost}
		out.TotalDcu += r.DCU
		out.TotalCost += r.Cost
	}
	return out, nil
}

func policyToPB(p store.DedupPolicy) *pb.DedupPolicy {
	return &pb.DedupPolicy{Name: p.Name, Threshold: p.Threshold, Active: p.Active, Shared: p.TenantID == 0}
}

// ListDedupPolicies implements the RPC.
func (s *Service) ListDedupPolicies(ctx context.Context, _ *pb.ListDedupPoliciesRequest) (*pb.ListDedupPoliciesResponse, error) {
	if s.bill == nil {
		return nil, toStatus(s.log, "ListDedupPolicies", errNoBilling)
	}
	id := tenant.From(ctx)
	ps, err := s.bill.Store.DedupPolicies(ctx, id.Tenant)
	if err != nil {
		return nil, toStatus(s.log, "ListDedupPolicies", err)
	}
	out := &pb.ListDedupPoliciesResponse{}
	own := false
	for _, p := range ps {
		out.Policies = append(out.Policies, policyToPB(p))
		if p.Active && p.TenantID == id.Tenant {
			out.Effective, own = p.Name, true
		}
		if p.Active && p.TenantID == 0 && !own && out.Effective == "" {
			out.Effective = p.Name
		}
	}
	return out, nil
}

// SetDedupPolicy implements the RPC.
func (s *Service) SetDedupPolicy(ctx context.Context, req *pb.SetDedupPolicyRequest) (*pb.SetDedupPolicyResponse, error) {
	if s.bill == nil {
		return nil, toStatus(s.log, "SetDedupPolicy", errNoBilling)
	}
	id := tenant.From(ctx)
	switch t := req.GetThreshold(); {
	case req.GetName() == "" || len(req.GetName()) > 200:
		return nil, toStatus(s.log, "SetDedupPolicy", &engine.FieldError{Field: "name", Err: fmt.Errorf("%w: 1 to 200 bytes", engine.ErrInvalid)})
	case !(t > 0 && t <= 1):
		return nil, toStatus(s.log, "SetDedupPolicy", &engine.FieldError{Field: "threshold", Err: fmt.Errorf("%w: %v is not in (0, 1]", engine.ErrInvalid, t)})
	}
	p, err := s.bill.Store.SetDedupPolicy(ctx, store.DedupPolicy{TenantID: id.Tenant, Name: req.GetName(), Threshold: req.GetThreshold(), Active: req.GetActive()})
	if err != nil {
		return nil, toStatus(s.log, "SetDedupPolicy", err)
	}
	s.eng.ForgetPolicy(id.Tenant)
	return &pb.SetDedupPolicyResponse{Policy: policyToPB(p)}, nil
}
