package models

// ShuffledLabels returns in set to train on its outcomes dealt at random:
// a placebo model, for the activation gate's tests.
func ShuffledLabels(in TrainInput) TrainInput {
	in.shuffleLabels = true
	return in
}
