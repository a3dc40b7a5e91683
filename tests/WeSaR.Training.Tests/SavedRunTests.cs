using WeSaR.Model.Checkpoints;
using WeSaR.Training.Config;
using WeSaR.Training.Loop;

namespace WeSaR.Training.Tests;

/// <summary>Which checkpoint `export` and `sample` read, decided on a list of committed checkpoints.</summary>
public sealed class SavedRunTests
{
    static readonly CheckpointInfo[] Committed = [new(10, "step-10", "a"), new(20, "step-20", "b")];

    [Fact]
    public void No_step_is_the_newest_and_a_step_is_that_checkpoint()
    {
        Assert.Equal(20, SavedRun.Pick(Committed, null, "run").Checkpoint!.Step);
        Assert.Equal("step-10", SavedRun.Pick(Committed, 10, "run").Checkpoint!.Path);
    }

    [Fact]
    public void A_step_without_a_checkpoint_or_a_run_without_any_says_what_there_is()
    {
        var (none, problem) = SavedRun.Pick(Committed, 15, "run");
        Assert.Null(none);
        Assert.Equal("run has no checkpoint at step 15; it has step 10, 20", problem);
        Assert.Equal("run has no committed checkpoint yet", SavedRun.Pick([], null, "run").Problem);
    }

    [Fact]
    public void A_folder_without_a_config_is_no_run_folder()
    {
        var dir = Directory.CreateTempSubdirectory("wesar-test-").FullName;
        try { Assert.Equal($"{dir} is not a run folder (it has no config.conf)", SavedRun.Find(dir, null).Problem); }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_run_folders_config_reads_back_to_the_same_settings_empty_strings_and_colons_included()
    {
        var written = TrainSettings.Load(null, ["run.name=", "run.device=cuda:0", "init.scheme=embed-ln(wesar(he))", "data.path=a//b.txt", "model.qk-norm=on"]);
        var dir = Directory.CreateTempSubdirectory("wesar-test-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, TrainingRun.ConfigFile), ConfigLoader.Canonical(written.Source));
            var read = SavedRun.Settings(dir);
            Assert.Equal((written.Run, written.Data, written.Model, written.Init, written.Optim, written.Train),
                (read.Run, read.Data, read.Model, read.Init, read.Optim, read.Train));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
