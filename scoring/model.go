package scoring

import (
	"encoding/json"
	"fmt"
)

// Model is a trained retry model in compact form: a bag of decision trees
// over the categorical features, whose leaf frequencies are averaged. It is
// what golearn trained, node for node, laid out as arrays, so scoring a
// candidate is a few array reads per tree.
type Model struct {
	Trees []Tree `json:"trees"`
}

// Tree is one decision tree. Node 0 is the root.
type Tree struct {
	// Feature splits a node on a feature index; -1 marks a leaf.
	Feature []int8 `json:"feature"`
	// First is the index of a node's first child; the child for feature
	// value v is First+v.
	First []int32 `json:"first"`
	// P is the share of successes among the training rows at a node.
	P []float64 `json:"p"`
}

// Score returns the probability of success of an attempt with features x.
func (m *Model) Score(x []uint8) float64 {
	var sum float64
	for i := range m.Trees {
		t := &m.Trees[i]
		n := int32(0)
		for t.Feature[n] >= 0 {
			n = t.First[n] + int32(x[t.Feature[n]])
		}
		sum += t.P[n]
	}
	return sum / float64(len(m.Trees))
}

// Nodes counts the model's nodes.
func (m *Model) Nodes() int {
	n := 0
	for _, t := range m.Trees {
		n += len(t.Feature)
	}
	return n
}

// Marshal serializes the model.
func (m *Model) Marshal() ([]byte, error) { return json.Marshal(m) }

// Unmarshal reads a serialized model and checks its shape.
func Unmarshal(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read retry model: %w", err)
	}
	if len(m.Trees) == 0 {
		return nil, fmt.Errorf("read retry model: no trees")
	}
	for ti, t := range m.Trees {
		if len(t.Feature) == 0 || len(t.First) != len(t.Feature) || len(t.P) != len(t.Feature) {
			return nil, fmt.Errorf("read retry model: tree %d is malformed", ti)
		}
		for n, f := range t.Feature {
			if f < 0 {
				continue
			}
			if int(f) >= NumFeatures || int(t.First[n])+Cardinality[f] > len(t.Feature) {
				return nil, fmt.Errorf("read retry model: tree %d node %d is malformed", ti, n)
			}
		}
	}
	return &m, nil
}
