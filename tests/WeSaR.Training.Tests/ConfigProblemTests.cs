using WeSaR.Training.Config;
using WeSaR.TestSupport;

namespace WeSaR.Training.Tests;

/// <summary>How bad input to ConfigLoader comes out: every problem together, with a hint where one helps.</summary>
public class ConfigProblemTests
{
    static readonly string[] Known = ["train.steps", "train.stop-at", "optim.lr", "optim.min-lr-ratio"];

    [Theory]
    [InlineData("train.stepz", "train.stepz: unknown key (did you mean train.steps?)")]
    [InlineData("optim.lrr", "optim.lrr: unknown key (did you mean optim.lr?)")]
    [InlineData("train.stop-a", "train.stop-a: unknown key (did you mean train.stop-at?)")]
    [InlineData("colour", "colour: unknown key")]
    [InlineData("optim.learning-rate", "optim.learning-rate: unknown key")]
    public void An_unknown_key_names_the_nearest_known_one_only_when_it_looks_like_a_typo(string key, string message) =>
        Assert.Equal(message, ConfigLoader.UnknownKey(key, Known));

    [Fact]
    public void A_prefix_is_on_both_the_key_and_the_suggestion() =>
        Assert.Equal("sweep.grid.optim.lrr: unknown key (did you mean sweep.grid.optim.lr?)", ConfigLoader.UnknownKey("optim.lrr", Known, "sweep.grid."));

    [Fact]
    public void Unknown_keys_come_out_with_the_settings_problems()
    {
        using var dir = TestEnv.NewTempDir();
        var file = Path.Combine(dir.Path, "bad.conf");
        File.WriteAllText(file, "train.stepz = 3\ninit.scheme = bogus\n");
        var e = Assert.Throws<ConfigException>(() => TrainSettings.Load(file, ["optim.lr=-1", "model.n-layerz=2", "data.path="]));
        Assert.Equal(5, e.Problems.Count);
        Assert.Equal("--set model.n-layerz: unknown key (did you mean model.n-layer?)", e.Problems[0]);
        Assert.Equal($"{file}: train.stepz: unknown key (did you mean train.steps?)", e.Problems[1]);
        Assert.Contains(e.Problems, p => p.StartsWith("init.scheme: unknown init scheme 'bogus'"));
        Assert.Contains("optim.lr must be positive, got -1", e.Problems);
        Assert.Contains(e.Problems, p => p.StartsWith("data.path is empty"));
    }

    [Fact]
    public void Unreadable_input_stops_the_checks_so_no_follow_on_error_is_reported()
    {
        using var dir = TestEnv.NewTempDir();
        var file = Path.Combine(dir.Path, "bad.conf");
        File.WriteAllText(file, "data.path = corpus.txt\ninit.scheme = [he, small\n");
        var e = Assert.Throws<ConfigException>(() => TrainSettings.Load(file, ["optim.lr=[3e-3", "train.stepz=1"]));
        // data.path is set in the broken file: "data.path is empty" would be a follow-on error.
        Assert.Equal(["--set optim.lr: '[' opened here is never closed", $"{file}:2: '[' opened here is never closed",
            "--set train.stepz: unknown key (did you mean train.steps?)"], e.Problems);
    }

    [Fact]
    public void The_last_set_of_a_key_wins() =>
        Assert.Equal(7, TrainSettings.Load(null, ["data.path=x", "train.steps=5", "train.steps=7"]).Train.Steps);

    [Fact]
    public void A_list_where_one_value_belongs_is_a_type_problem_not_a_crash()
    {
        var e = Assert.Throws<ConfigException>(() => TrainSettings.Load(null, ["data.path=x", "optim.lr=[3e-3, 3e-2]", "train.steps=[]"]));
        Assert.Contains("optim.lr must be a number, got '[3e-3,3e-2]'", e.Problems);
        Assert.Contains(e.Problems, p => p.StartsWith("train.steps must be an integer"));
    }

    [Fact]
    public void A_value_below_its_minimum_is_reported_and_read_as_the_minimum()
    {
        var r = new ConfigReader(Akka.Configuration.ConfigurationFactory.ParseString("n = -1"));
        Assert.Equal(0, r.Int("n", 0));
        Assert.Equal("invalid configuration: n must be at least 0, got -1", Assert.Throws<ConfigException>(r.ThrowIfInvalid).Message);
    }
}
