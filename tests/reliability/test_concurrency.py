"""Two Python threads training two models at once get what each gets alone: the kernels
release the GIL and share ember's thread pool (a call that finds the pool busy runs on its
own thread), so nothing is shared between the runs that could change a result."""
import threading

import numpy as np

from training_helpers import batches, small_cnn, train


def test_two_threads_training_concurrently_match_serial_training():
    data = [batches(30, offset=0), batches(30, offset=40)]
    serial = []
    for i in range(2):
        model = small_cnn(seed=i)
        serial.append((train(model, data[i]), model.state_dict()))
    models = [small_cnn(seed=i) for i in range(2)]
    results = [None, None]
    errors = []

    def run(i):
        try:
            results[i] = train(models[i], data[i])
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(2):
        np.testing.assert_allclose(results[i], serial[i][0], rtol=1e-5)
        for k, v in models[i].state_dict().items():
            np.testing.assert_allclose(v.numpy(), serial[i][1][k].numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=k)
