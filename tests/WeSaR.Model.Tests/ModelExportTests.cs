using WeSaR.Model.Export;
using WeSaR.Model.Init;
using static TorchSharp.torch;

namespace WeSaR.Model.Tests;

public sealed class ModelExportTests
{
    [Fact]
    public void Folding_writes_alpha_times_w_under_the_weights_name_and_drops_the_gates_keeping_writes_both()
    {
        manual_seed(5);
        using var model = new Gpt(new GptConfig(32, 8, 1, 2, 16), InitScheme.Parse("wesar(he)"));
        var state = model.state_dict();
        var kept = ModelExport.Weights(model, GateMode.Keep);
        Assert.Equal(state.Keys.Order(), kept.Keys.Order());
        var folded = ModelExport.Weights(model, GateMode.Fold);
        Assert.DoesNotContain(folded.Keys, k => k.EndsWith(".gate"));
        Assert.Equal(state.Keys.Where(k => !k.EndsWith(".gate")).Order(), folded.Keys.Order());
        foreach (var (name, _) in model.Matrices())
            Assert.True(folded[name + ".weight"].eq(state[name + ".weight"] * state[name + ".gate"]).all().item<bool>(), name);
        Assert.True(folded["wpe"].eq(state["wpe"]).all().item<bool>());   // never gated
        var config = ModelExport.Config(model, GateMode.Fold, "byte", 0);
        Assert.True(config.Gated && config.GatesFolded);
        Assert.False(ModelExport.Config(model, GateMode.Keep, "byte", 0).GatesFolded);
    }
}
