package scoring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/sjwhitworth/golearn/base"
	"github.com/sjwhitworth/golearn/trees"
)

// Row is one training example: the features of an attempt and whether it
// was approved.
type Row struct {
	X        []uint8
	Approved bool
}

// TrainConfig tunes training. Zero fields take their defaults.
type TrainConfig struct {
	// Trees in the bag. Default 8.
	Trees int
	// MinLeaf is the fewest rows a node needs to be split further. Default
	// 100.
	MinLeaf int
	// MinGain is the least information gain (bits) a split must bring.
	// Default 0.0005.
	MinGain float64
	// Seed makes the bootstrap samples, and so the model, repeatable.
	Seed uint64
	// Progress, if set, is told how many trees are done.
	Progress func(done, total int)
}

func (c TrainConfig) withDefaults() TrainConfig {
	if c.Trees <= 0 {
		c.Trees = 8
	}
	if c.MinLeaf <= 0 {
		c.MinLeaf = 100
	}
	if c.MinGain <= 0 {
		c.MinGain = 0.0005
	}
	return c
}

// Bag is what golearn trained: ID3 trees, one per bootstrap sample, each
// completed so every feature value has a branch.
type Bag struct {
	Trees []*trees.ID3DecisionTree
	attrs []*base.CategoricalAttribute
	class *base.CategoricalAttribute
	// sys holds golearn's stored form of each value of each feature, and
	// of the class.
	sys      [][][]byte
	classSys [2][]byte
}

// Train fits a bag of golearn ID3 trees on rows. golearn's own random
// source is not used: the bootstrap samples come from cfg.Seed and ID3 is
// deterministic, so the same rows and seed give the same model.
func Train(rows []Row, cfg TrainConfig) (*Bag, error) {
	cfg = cfg.withDefaults()
	if len(rows) < 2*cfg.MinLeaf {
		return nil, fmt.Errorf("train: %d rows are too few (at least %d)", len(rows), 2*cfg.MinLeaf)
	}
	bag := &Bag{}
	for f := 0; f < NumFeatures; f++ {
		a := base.NewCategoricalAttribute()
		a.SetName(FeatureNames[f])
		vals := make([][]byte, Cardinality[f])
		for v := range vals {
			vals[v] = a.GetSysValFromString(strconv.Itoa(v)) // fixes value v's code
		}
		bag.attrs = append(bag.attrs, a)
		bag.sys = append(bag.sys, vals)
	}
	bag.class = base.NewCategoricalAttribute()
	bag.class.SetName("approved")
	bag.classSys[0] = bag.class.GetSysValFromString("0")
	bag.classSys[1] = bag.class.GetSysValFromString("1")

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x726574727921))
	for t := 0; t < cfg.Trees; t++ {
		sample := make([]Row, len(rows))
		for i := range sample {
			sample[i] = rows[rng.IntN(len(rows))]
		}
		grid, err := bag.grid(sample)
		if err != nil {
			return nil, err
		}
		tree := trees.NewID3DecisionTreeFromRule(0, &limitedRule{minRows: cfg.MinLeaf, minGain: cfg.MinGain})
		if err := tree.Fit(grid); err != nil {
			return nil, fmt.Errorf("train tree %d: %w", t, err)
		}
		complete(tree.Root, bag)
		bag.Trees = append(bag.Trees, tree)
		if cfg.Progress != nil {
			cfg.Progress(t+1, cfg.Trees)
		}
	}
	return bag, nil
}

// grid lays rows out as golearn instances.
func (b *Bag) grid(rows []Row) (*base.DenseInstances, error) {
	inst := base.NewDenseInstances()
	specs := make([]base.AttributeSpec, NumFeatures)
	for f, a := range b.attrs {
		specs[f] = inst.AddAttribute(a)
	}
	classSpec := inst.AddAttribute(b.class)
	if err := inst.AddClassAttribute(b.class); err != nil {
		return nil, err
	}
	if err := inst.Extend(len(rows)); err != nil {
		return nil, err
	}
	for i, r := range rows {
		for f := range specs {
			inst.Set(specs[f], i, b.sys[f][r.X[f]])
		}
		inst.Set(classSpec, i, b.classSys[boolCode(r.Approved)])
	}
	return inst, nil
}

// limitedRule is ID3's information gain, stopping where a node has too few
// rows or no split is worth its gain: golearn's ID3 would otherwise split
// until every feature is used.
type limitedRule struct {
	minRows int
	minGain float64
	inner   trees.InformationGainRuleGenerator
}

func (l *limitedRule) GenerateSplitRule(f base.FixedDataGrid) *trees.DecisionTreeRule {
	if _, rows := f.Size(); rows < l.minRows {
		return nil
	}
	rule := l.inner.GenerateSplitRule(f)
	if rule == nil || rule.SplitAttr == nil {
		return nil
	}
	before := entropy(base.GetClassDistribution(f))
	after := 0.0
	total := 0
	split := base.GetClassDistributionAfterSplit(f, rule.SplitAttr)
	for _, dist := range split {
		for _, n := range dist {
			total += n
		}
	}
	for _, dist := range split {
		n := 0
		for _, c := range dist {
			n += c
		}
		after += float64(n) / float64(total) * entropy(dist)
	}
	if before-after < l.minGain {
		return nil
	}
	return rule
}

func entropy(dist map[string]int) float64 {
	total := 0
	for _, n := range dist {
		total += n
	}
	h := 0.0
	for _, n := range dist {
		if n > 0 {
			p := float64(n) / float64(total)
			h -= p * math.Log2(p)
		}
	}
	return h
}

// unseen marks the leaves complete adds for values a node never saw in
// training: they hold the node's distribution but no rows of their own.
var unseen = &trees.DecisionTreeRule{}

// rowsAt is the number of training rows that reached a node.
func rowsAt(n *trees.DecisionTreeNode) int32 {
	if n.SplitRule == unseen {
		return 0
	}
	total := 0
	for _, c := range n.ClassDist {
		total += c
	}
	return int32(total)
}

// complete gives every rule node a child for every value of its feature: a
// value the node never saw in training takes the node's own distribution.
// golearn would otherwise send it down an arbitrary branch, in map order.
func complete(n *trees.DecisionTreeNode, b *Bag) {
	if n == nil || n.Children == nil {
		return
	}
	f := featureIndex(n.SplitRule.SplitAttr.GetName())
	for v := 0; v < Cardinality[f]; v++ {
		key := strconv.Itoa(v)
		if _, ok := n.Children[key]; !ok {
			n.Children[key] = &trees.DecisionTreeNode{
				Type: trees.LeafNode, ClassDist: n.ClassDist, Class: n.Class, ClassAttr: n.ClassAttr,
				SplitRule: unseen,
			}
		}
	}
	for _, c := range n.Children {
		complete(c, b)
	}
}

func featureIndex(name string) int {
	for i, n := range FeatureNames {
		if n == name {
			return i
		}
	}
	panic("scoring: unknown feature " + name)
}

// Compile lays the trees out as a Model.
func (b *Bag) Compile() *Model {
	m := &Model{}
	for _, t := range b.Trees {
		var ct Tree
		var add func(n *trees.DecisionTreeNode) int32
		add = func(n *trees.DecisionTreeNode) int32 {
			idx := int32(len(ct.Feature))
			ct.Feature = append(ct.Feature, -1)
			ct.First = append(ct.First, 0)
			ct.P = append(ct.P, share(n.ClassDist))
			ct.N = append(ct.N, rowsAt(n))
			if n.Children == nil {
				return idx
			}
			f := featureIndex(n.SplitRule.SplitAttr.GetName())
			ct.Feature[idx] = int8(f)
			first := int32(len(ct.Feature))
			ct.First[idx] = first
			// Reserve the children's slots, then fill each subtree.
			for v := 0; v < Cardinality[f]; v++ {
				ct.Feature = append(ct.Feature, -1)
				ct.First = append(ct.First, 0)
				ct.P = append(ct.P, 0)
				ct.N = append(ct.N, 0)
			}
			for v := 0; v < Cardinality[f]; v++ {
				child := n.Children[strconv.Itoa(v)]
				sub := add(child)
				// Move the subtree's root into its reserved slot.
				c := first + int32(v)
				ct.Feature[c], ct.First[c], ct.P[c], ct.N[c] = ct.Feature[sub], ct.First[sub], ct.P[sub], ct.N[sub]
			}
			return idx
		}
		add(t.Root)
		m.Trees = append(m.Trees, ct)
	}
	return m
}

// share is the share of approvals in a class distribution.
func share(dist map[string]int) float64 {
	total := 0
	for _, n := range dist {
		total += n
	}
	if total == 0 {
		return 0
	}
	return float64(dist["1"]) / float64(total)
}

// PredictProba is golearn's own probability of approval for x: the mean of
// each tree's PredictProba. It is slow (a grid per row), for checking the
// compiled model.
func (b *Bag) PredictProba(x []uint8) (float64, error) {
	grid, err := b.grid([]Row{{X: x}})
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, t := range b.Trees {
		probs, err := t.PredictProba(grid)
		if err != nil {
			return 0, err
		}
		for _, p := range probs {
			if p.ClassValue == "1" {
				sum += p.Probability
			}
		}
	}
	return sum / float64(len(b.Trees)), nil
}
