<?php

// Autoloading without Composer's vendor/ (Packagist unreachable, Symfony from
// Debian's php-symfony-* packages): this package by PSR-4, Symfony and PSR
// from /usr/share/php. With `composer install`, vendor/autoload.php is used.
declare(strict_types=1);

if (is_file(__DIR__ . '/vendor/autoload.php')) {
    require_once __DIR__ . '/vendor/autoload.php';
} else {
    $system = getenv('INCWO_PHP_SYSTEM_LIBS') ?: '/usr/share/php';
    foreach ([
        'Psr/Log/autoload.php',
        'Symfony/Component/HttpClient/autoload.php',
        'Symfony/Component/Console/autoload.php',
        'Symfony/Component/Config/autoload.php',
        'Symfony/Component/DependencyInjection/autoload.php',
        'Symfony/Component/HttpKernel/autoload.php',
        'Symfony/Component/HttpFoundation/autoload.php',
        'Symfony/Component/Routing/autoload.php',
        'Symfony/Component/Messenger/autoload.php',
        'Symfony/Component/Yaml/autoload.php',
        'Symfony/Bundle/FrameworkBundle/autoload.php',
    ] as $file) {
        if (is_file("{$system}/{$file}")) {
            require_once "{$system}/{$file}";
        }
    }
}

spl_autoload_register(static function (string $class): void {
    foreach (['Incwo\\Connector\\Tests\\' => __DIR__ . '/tests/', 'Incwo\\Connector\\' => __DIR__ . '/src/'] as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require_once $file;
            }

            return;
        }
    }
});
