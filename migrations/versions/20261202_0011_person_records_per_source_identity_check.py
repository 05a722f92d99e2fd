"""person.personal_id no longer unique (one record per source, indexed); the identity check of a citizen's
account (identity_verified_at/by/method); dossier_flag.kind 'person_mismatch'; follow_lookup_guard (wrong 4-digit answers per dossier code)

Each captured dossier keeps its people as the officer typed them, and a citizen's self-declared ID is its own
record: a personal ID may appear on several person rows. The flag kind column is a VARCHAR guarded by the CHECK
constraint of server.enums.enum_type, recreated by hand (batch mode, so that SQLite copies the table).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_OLD_KINDS = ('clock_skew', 'due_mismatch', 'provisional_code')
_NEW_KINDS = _OLD_KINDS + ('person_mismatch',)


def _kinds(values):
    with op.batch_alter_table('dossier_flag', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_dossier_flag_flag_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_dossier_flag_flag_kind'),
                                         "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")")


def upgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_person_personal_id'), type_='unique')
        batch_op.create_index(batch_op.f('ix_person_personal_id'), ['personal_id'], unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('identity_verified_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('identity_verified_method', sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_user_account_identity_verified_by_id_user_account'),
                                    'user_account', ['identity_verified_by_id'], ['id'])
    _kinds(_NEW_KINDS)
    op.create_table('follow_lookup_guard',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_follow_lookup_guard'))
    )


def downgrade():
    # Check before changing anything: the old schema holds one record per personal ID, and since this revision
    # capture keeps one per dossier. Merging them would pick one officer's data over another's: a person's call.
    shared = op.get_bind().execute(sa.text(
        "SELECT COUNT(*) FROM (SELECT personal_id FROM person WHERE personal_id IS NOT NULL"
        " GROUP BY personal_id HAVING COUNT(*) > 1) AS shared")).scalar()
    if shared:
        raise RuntimeError(f"Cannot downgrade below 0011: {shared} personal IDs are held by several person records "
                           "(one per captured dossier). The older schema allows one; merge them first.")
    op.drop_table('follow_lookup_guard')
    # Going back cannot keep two records of one personal ID, nor a flag kind the old code does not know.
    op.execute("DELETE FROM dossier_flag WHERE kind = 'person_mismatch'")
    _kinds(_OLD_KINDS)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_account_identity_verified_by_id_user_account'),
                                 type_='foreignkey')
        batch_op.drop_column('identity_verified_method')
        batch_op.drop_column('identity_verified_by_id')
        batch_op.drop_column('identity_verified_at')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_personal_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_person_personal_id'), ['personal_id'])
