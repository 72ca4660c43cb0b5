package check

import "slices"

/*
ViewAgreement checks the membership half of virtual synchrony (DESIGN §2, seed-model §12.1):

  - Identical views: every member that installs view (g, id) installs the same member list, in the
    same rank order.
  - Each member incarnation installs the views of a group with strictly increasing ids.
  - A member only installs views that list it (so its first view contains it; a member dropped from
    a view is firewalled and rejoins as a new incarnation, it never installs a view without itself).
  - No skipped view: if a member installs views a and then b of a group, it also installed every view
    u, a < u < b, that lists it. Together with the first two rules, every pair of members sees the
    views they share in the same order, with the same contents.

Exemptions: none. A crashed member simply installs no further views. Rank order across views (seniority)
is not checked, because the DHT layer moves the tail member into a departed member's rank (DESIGN §2).
*/

// ViewAgreement checks that all members agree on each view's member list, install views in strictly
// increasing id order, only install views that contain them, and skip no view that lists them.
func ViewAgreement(history []Event) []Violation { return viewAgreement(buildIndex(history)) }

func viewAgreement(ix *index) []Violation {
	c := &collector{name: NameViewAgreement}
	for _, vk := range ix.viewOrder {
		vi := ix.views[vk]
		first := &ix.h[vi.firstIdx]
		for _, i := range vi.installers[1:] {
			if e := &ix.h[i]; !slices.Equal(e.Members, vi.members) {
				c.addf("view %d of %s: %s installed members %v but %s installed %v",
					vk.id, vk.group, first.Member, vi.members, e.Member, e.Members)
			}
		}
	}
	for _, mk := range ix.memberOrder {
		ins := ix.installs[mk]
		for j, in := range ins {
			e := &ix.h[in.idx]
			if !slices.Contains(e.Members, mk.member) {
				c.addf("%s installed view %d of %s, which does not list it: %v", mk.member, in.id, mk.group, e.Members)
			}
			if j == 0 {
				continue
			}
			prev := ins[j-1].id
			if in.id <= prev {
				c.addf("%s installed view %d of %s after view %d (view ids must strictly increase)",
					mk.member, in.id, mk.group, prev)
				continue
			}
			ids := ix.groupIDs[mk.group]
			lo, _ := slices.BinarySearch(ids, prev+1)
			for _, u := range ids[lo:] {
				if u >= in.id {
					break
				}
				if ix.views[viewKey{mk.group, u}].memberSet[mk.member] {
					c.addf("%s went from view %d to view %d of %s, skipping view %d that lists it",
						mk.member, prev, in.id, mk.group, u)
				}
			}
		}
	}
	return c.result()
}
