// Package scoring is the retry model: the features known when a retry is
// planned (features.go, one function for training and for scoring), the
// training of bagged ID3 trees with golearn (train.go), the compact
// compiled form used to score hundreds of candidate times in about a
// millisecond (model.go), the metrics a data team judges a model by
// (metrics.go), and the smart planner that picks the retry time with the
// highest chance of recovering the payment (planner.go).
//
// It never writes a payment and never calls a processor.
package scoring
