package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/jonboulle/clockwork"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/account"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/viewer"
)

const modelUsage = `Usage:
  offsession model export   [-account ID] [-o FILE]   the attempt history with features and labels, as CSV
  offsession model train    [-account ID] [-trees N] [-min-leaf N] [-seed N]
  offsession model list     [-account ID]             versions, their status and metrics
  offsession model activate [-account ID] VERSION     activate a version (an older one rolls back)
`

// modelCommand runs `offsession model ...` for the data team.
func modelCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, modelUsage)
		return errors.New("a subcommand is needed")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("offsession model "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	vars := cfg.bind(fs)
	acct := fs.String("account", "", "the account (default: the only one)")
	out := fs.String("o", "", "export: the file to write (default: standard output)")
	trees := fs.Int("trees", 0, "train: trees in the bag (default 8)")
	minLeaf := fs.Int("min-leaf", 0, "train: fewest rows a node needs to split (default 100)")
	seed := fs.Int("seed", 1, "train: the seed of the bootstrap samples")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if err := applyEnv(fs, vars, os.LookupEnv); err != nil {
		return err
	}
	level, err := cfg.level()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	actx, err := accountContext(ctx, st.Client, *acct)
	if err != nil {
		return err
	}
	svc := models.New(st.Client, clockwork.NewRealClock(), log)
	switch sub {
	case "export":
		w := stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		n, err := svc.Export(actx, w)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "exported %d retries\n", n)
	case "train":
		in := models.TrainInput{Seed: seed}
		if *trees > 0 {
			in.Trees = trees
		}
		if *minLeaf > 0 {
			in.MinLeaf = minLeaf
		}
		m, err := svc.Train(actx, in, func(msg string) { fmt.Fprintln(stderr, "  "+msg) })
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "trained v%d (%s) in %ds: it is a candidate; activate it with `offsession model activate %d`\n",
			m.Version, m.ID, *m.TrainingSeconds, m.Version)
	case "list":
		ms, err := svc.List(actx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATUS\tTRAIN ROWS\tTEST ROWS\tAUC\tBRIER\tLOG LOSS\tBACKTEST SMART/SCHEDULED\tCREATED")
		for _, m := range ms {
			bt := "-"
			if m.Metrics.Backtest != nil {
				bt = fmt.Sprintf("%.3f / %.3f", m.Metrics.Backtest.SmartRecovery, m.Metrics.Backtest.ScheduledRecovery)
			}
			fmt.Fprintf(tw, "v%d\t%s\t%d\t%d\t%.3f\t%.4f\t%.4f\t%s\t%s\n", m.Version, m.Status, m.TrainRows, m.TestRows,
				m.Metrics.AUC, m.Metrics.Brier, m.Metrics.LogLoss, bt, m.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "activate":
		if fs.NArg() != 1 {
			return errors.New("usage: offsession model activate VERSION")
		}
		v, err := strconv.Atoi(trimV(fs.Arg(0)))
		if err != nil {
			return fmt.Errorf("version %q: want a number such as 3 or v3", fs.Arg(0))
		}
		m, err := svc.Activate(actx, v)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "v%d is active\n", m.Version)
	default:
		fmt.Fprint(stderr, modelUsage)
		return fmt.Errorf("model: unknown subcommand %q", sub)
	}
	return nil
}

func trimV(s string) string {
	if len(s) > 1 && (s[0] == 'v' || s[0] == 'V') {
		return s[1:]
	}
	return s
}

// accountContext acts as an admin of the account named, or of the only
// account there is.
func accountContext(ctx context.Context, db *ent.Client, id string) (context.Context, error) {
	sys := viewer.SystemContext(ctx)
	if id == "" {
		ids, err := db.Account.Query().Limit(2).IDs(sys)
		if err != nil {
			return nil, err
		}
		if len(ids) != 1 {
			return nil, fmt.Errorf("%d accounts: name one with -account", len(ids))
		}
		id = ids[0]
	} else if ok, err := db.Account.Query().Where(account.ID(id)).Exist(sys); err != nil || !ok {
		return nil, fmt.Errorf("no account %q", id)
	}
	return viewer.NewContext(ctx, viewer.Viewer{AccountID: id, Role: viewer.RoleAdmin}), nil
}
