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

    [Fact]
    public void Our_step_is_torchsharps_adamw_step_bit_for_bit_on_the_same_state()
    {
        (Gpt Model, TorchSharp.Modules.AdamW Opt) Make()
        {
            manual_seed(7);
            var model = new Gpt(new GptConfig(64, 16, 2, 2, 32), InitScheme.Parse("wesar(he)"));
            return (model, Optim.AdamW(model, new AdamWOptions(Lr: 3e-3, WeightDecay: 0.1)));
        }
        var (theirs, theirOpt) = Make();
        var (ours, ourOpt) = Make();
        manual_seed(11);
        var x = randint(64, [4, 16]);
        for (var step = 0; step < 3; step++)
        {
            foreach (var (m, o) in new[] { (theirs, theirOpt), (ours, ourOpt) })
            {
                o.zero_grad();
                nn.functional.cross_entropy(m.call(x).view(-1, 64), x.reshape(-1)).backward();
            }
            theirOpt.step();
            Optim.Step(ourOpt);
        }
        foreach (var (a, b) in theirs.parameters().Zip(ours.parameters()))
            Assert.True(a.eq(b).all().item<bool>());
        Assert.Equal(StateBytes(theirOpt), StateBytes(ourOpt));   // same state, same checkpoint bytes
        theirOpt.Dispose(); ourOpt.Dispose(); theirs.Dispose(); ours.Dispose();
    }

    static byte[] StateBytes(TorchSharp.Modules.AdamW opt) => WeSaR.Model.Checkpoints.StateBytes.Save(opt);
}
