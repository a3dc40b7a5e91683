using WeSaR.Model;
using WeSaR.Model.Init;
using static TorchSharp.torch;

namespace WeSaR.Model.Tests;

public class OptimTests
{
    [Fact]
    public void Matrices_decay_while_gates_and_norm_gains_do_not_and_both_groups_keep_the_lr()
    {
        manual_seed(1);
        using var model = new Gpt(new GptConfig(64, 16, 2, 2, 32), InitScheme.Parse("wesar(he)"));
        using var opt = Optim.AdamW(model, new AdamWOptions(Lr: 6e-4, WeightDecay: 0.1));
        var groups = opt.ParamGroups.Cast<TorchSharp.Modules.ParamGroup>().ToList();
        Assert.Equal(2, groups.Count);
        Assert.All(groups[0].Parameters, p => Assert.True(p.dim() >= 2));
        Assert.All(groups[1].Parameters, p => Assert.True(p.dim() < 2));
        Assert.Equal(model.Matrices().Count + 2 * 2 + 1, groups[1].Parameters.Count()); // gates + ln_1/ln_2 per block + ln_f
        Assert.All(groups, g => Assert.Equal(6e-4, g.LearningRate, 12));
        Optim.SetLearningRate(opt, 1e-2);
        Assert.All(groups, g => Assert.Equal(1e-2, g.LearningRate, 12));
    }
}
