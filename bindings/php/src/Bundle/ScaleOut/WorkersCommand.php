<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Input\InputOption;
use Symfony\Component\Console\Output\OutputInterface;

/**
 * `incwo:workers`: runs one `messenger:consume` worker per shard queue and
 * keeps them running: a worker that exits (its `--time-limit` or
 * `--memory-limit` reached, or killed) is started again. SIGTERM or SIGINT
 * is forwarded to every worker, which finishes its current message and
 * stops; the command returns when all have stopped. A supervisor (systemd,
 * supervisord) runs this command, or runs the workers itself (see
 * docs/SCALE-OUT.md).
 */
final class WorkersCommand extends Command
{
    protected static $defaultName = 'incwo:workers';

    private bool $stopping = false;

    public function __construct(private readonly int $shards = 4, private readonly string $transport = Topology::TRANSPORT)
    {
        parent::__construct();
    }

    protected function configure(): void
    {
        $this
            ->setDescription('Runs one Messenger worker per shard queue and restarts those that exit')
            ->addOption('shards', null, InputOption::VALUE_REQUIRED, 'shard count (default: incwo_connector.scale_out.shards)')
            ->addOption('only', null, InputOption::VALUE_REQUIRED | InputOption::VALUE_IS_ARRAY, 'run only these shards')
            ->addOption('time-limit', null, InputOption::VALUE_REQUIRED, 'seconds a worker runs before it is replaced', '3600')
            ->addOption('memory-limit', null, InputOption::VALUE_REQUIRED, 'memory a worker may use before it is replaced', '256M')
            ->addOption('sleep', null, InputOption::VALUE_REQUIRED, 'seconds a worker sleeps when its queue is empty', '0.2')
            ->addOption('console', null, InputOption::VALUE_REQUIRED, 'the application console (default: this one)')
            ->addOption('php-option', null, InputOption::VALUE_REQUIRED | InputOption::VALUE_IS_ARRAY, 'PHP options of the workers', ['-d', 'ffi.enable=1'])
            ->addOption('pid-dir', null, InputOption::VALUE_REQUIRED, 'write each worker pid to shard-N.pid here');
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        $shards = (int) ($input->getOption('shards') ?? $this->shards);
        $only = array_map('intval', (array) $input->getOption('only'));
        $selected = $only !== [] ? $only : range(0, max(1, $shards) - 1);
        $console = (string) ($input->getOption('console') ?? realpath((string) ($_SERVER['argv'][0] ?? 'bin/console')));
        $pidDir = $input->getOption('pid-dir');
        if (is_string($pidDir) && !is_dir($pidDir)) {
            @mkdir($pidDir, 0o770, true);
        }
        $base = array_merge([PHP_BINARY], (array) $input->getOption('php-option'), [$console, 'messenger:consume', $this->transport,
            '--time-limit=' . (string) $input->getOption('time-limit'),
            '--memory-limit=' . (string) $input->getOption('memory-limit'),
            '--sleep=' . (string) $input->getOption('sleep'),
        ]);
        if (\function_exists('pcntl_async_signals')) {
            pcntl_async_signals(true);
            $stop = function (): void {
                $this->stopping = true;
            };
            pcntl_signal(SIGTERM, $stop);
            pcntl_signal(SIGINT, $stop);
        }

        /** @var array<int, array{process: resource, pid: int, started: float}> $workers */
        $workers = [];
        $start = function (int $shard) use ($base, $pidDir, $output, &$workers): void {
            $command = array_merge($base, ['--queues=' . Topology::queue($shard)]);
            $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => STDOUT, 2 => STDERR], $pipes);
            if (!\is_resource($process)) {
                $output->writeln("<error>incwo:workers: cannot start the worker of shard {$shard}</error>");

                return;
            }
            $pid = (int) proc_get_status($process)['pid'];
            $workers[$shard] = ['process' => $process, 'pid' => $pid, 'started' => microtime(true)];
            if (is_string($pidDir)) {
                file_put_contents("{$pidDir}/shard-{$shard}.pid", (string) $pid);
            }
            $output->writeln("incwo:workers: shard {$shard} worker started (pid {$pid})");
        };
        foreach ($selected as $shard) {
            $start($shard);
        }
        $signalled = false;
        while ($workers !== []) {
            if ($this->stopping && !$signalled) {
                $signalled = true;
                $output->writeln('incwo:workers: stopping: each worker finishes its current message');
                foreach ($workers as $worker) {
                    proc_terminate($worker['process'], SIGTERM);
                }
            }
            foreach ($workers as $shard => $worker) {
                $status = proc_get_status($worker['process']);
                if ($status['running']) {
                    continue;
                }
                proc_close($worker['process']);
                unset($workers[$shard]);
                $code = $status['signaled'] ? 'signal ' . $status['termsig'] : 'code ' . $status['exitcode'];
                if ($this->stopping) {
                    $output->writeln("incwo:workers: shard {$shard} worker stopped ({$code})");
                    continue;
                }
                $output->writeln("incwo:workers: shard {$shard} worker exited ({$code}), starting it again");
                if (microtime(true) - $worker['started'] < 2.0) {
                    usleep(1_000_000);
                }
                $start($shard);
            }
            usleep(100_000);
        }

        return 0;
    }
}
