using System.CommandLine;
using WeSaR.Actors.Sweeps;
using WeSaR.Cli.Reports;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar report`: plots and one HTML page for a sweep.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("sweep-id") { Description = "The sweep's id (see `wesar sweep list`)" };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for the PNGs and index.html (default: <workdir>/reports/<sweep-id>)" };
        var cmd = new Command("report", "PNG plots (loss with spikes and rollbacks, W_d vs W_u update ratios, gates, final loss vs lr) and a self-contained HTML page")
            { id, output, HistoryAccess.Config, HistoryAccess.Set };
        cmd.SetAction((r, ct) =>
        {
            var workdir = r.GetValue(GlobalOptions.Workdir)!;
            var sweepId = r.GetValue(id)!;
            return HistoryAccess.With(HistoryAccess.Source(r), workdir, async host =>
            {
                if (await host.History.Read(new SweepId(sweepId)) is not { } sweep) return GlobalOptions.Fail(SweepRejected.NoSweep(sweepId, workdir));
                var outDir = r.GetValue(output) ?? Path.Combine(workdir, "reports", sweepId);
                var files = SweepReport.Write(sweep.State, sweep.Events, sweep.Runs, host.SharedDir, outDir);
                foreach (var f in files) Console.WriteLine(f);
                return 0;
            });
        });
        return cmd;
    }
}
