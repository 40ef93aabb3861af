// Package scoring is the retry model: the context of a retry decision, as
// known when it was made, built from stored attempts the same way for
// training and for planning (context.go, history.go), the features of a
// candidate time (features.go, one function for training rows and scored
// candidates), the training of bagged ID3 trees with golearn (train.go),
// the compact compiled form that scores a decision's hundreds of candidate
// times in under a millisecond (model.go; retry's BenchmarkSmartDecision),
// and the metrics a data team judges a model by (metrics.go).
//
// It never writes a payment, never calls a processor and never picks a
// retry time: the smart planner that does is retry.SmartPlanner, which
// scores candidates with a Model from here.
package scoring
