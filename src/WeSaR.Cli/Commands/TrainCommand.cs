using System.CommandLine;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar train`: one run, with live progress, metrics, checkpoints and exact resume.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "HOCON run config, e.g. hocon/presets/tiny.conf (defaults: hocon/train.conf)" };
        var set = new Option<string[]>("--set", "-s") { Description = "Override a key, e.g. --set data.path=corpus.txt --set train.steps=100 (repeatable)" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in run.dir from its newest valid checkpoint" };
        var cmd = new Command("train", "Train one model; metrics go to <run.dir>/metrics.jsonl, checkpoints to <run.dir>/checkpoints") { config, set, resume };
        cmd.SetAction(r => Run(r.GetValue(config), r.GetValue(set) ?? [], r.GetValue(resume), r.GetValue(GlobalOptions.Workdir)!));
        return cmd;
    }

    static int Run(string? configFile, string[] overrides, bool resume, string workdir)
    {
        TrainSettings settings;
        TrainingRun run;
        try
        {
            settings = TrainSettings.Load(configFile, overrides);
            foreach (var w in settings.Warnings()) Console.Error.WriteLine("warning: " + w);
            run = new TrainingRun(settings, RunDir(settings, workdir));
            run.CheckFolder(resume);
            Trainer.ResolveDevice(settings.Run.Device);
        }
        catch (Exception e) when (e is ConfigException or InvalidOperationException)
        {
            return GlobalOptions.Fail(e.Message);
        }

        TokenFile data;
        try { data = DataSource.OpenFor(settings, workdir, Console.WriteLine); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }

        using (data)
        using (var cts = new CancellationTokenSource())
        {
            GlobalOptions.OnCtrlC("stopping after this step (checkpoint, then exit)", cts.Cancel, sigterm: true);
            var printer = new ProgressPrinter(settings.Train.Steps);
            var summary = run.Execute(data, resume ? ResumePoint.Newest : ResumePoint.Fresh, new LocalRunControl(settings.Spike), printer, cts.Token);
            printer.Finish(summary);
            return summary.Interrupted ? GlobalOptions.Interrupted : summary.Failure is not null ? GlobalOptions.Failed : 0;
        }
    }

    static string RunDir(TrainSettings s, string workdir)
    {
        if (s.Run.Dir.Length > 0) return s.Run.Dir;
        var name = s.Run.Name.Length > 0 ? s.Run.Name
            : $"{s.Init.Scheme.Name.Replace('(', '-').TrimEnd(')')}-lr{s.Optim.AdamW.Lr:G3}-s{s.Run.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        return Path.Combine(workdir, "runs", name);
    }
}
