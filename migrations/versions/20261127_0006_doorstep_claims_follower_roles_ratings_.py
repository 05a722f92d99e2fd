"""doorstep claims, follower roles, ratings, visit requests, staff positions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 15:07:59.266018

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dossier_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('owner', 'follower', name='follow_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_dossier_claim_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_claim_dossier_id_dossier')),
    sa.ForeignKeyConstraint(['used_by_id'], ['user_account.id'], name=op.f('fk_dossier_claim_used_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_claim')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_dossier_claim_token_sha256'))
    )
    with op.batch_alter_table('dossier_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_claim_dossier_id'), ['dossier_id'], unique=False)

    op.create_table('dossier_rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('very_satisfied', 'satisfied', 'not_satisfied', name='rating_level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_rating_dossier_id_dossier')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_dossier_rating_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_rating')),
    sa.UniqueConstraint('dossier_id', name=op.f('uq_dossier_rating_dossier_id'))
    )
    with op.batch_alter_table('dossier_follower', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.Enum('owner', 'follower', name='follow_role', native_enum=False, create_constraint=True, length=32), server_default='follower', nullable=False))

    with op.batch_alter_table('home_visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_time', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('preferred_days', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('requested_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_home_visit_requested_by_id_user_account'), 'user_account', ['requested_by_id'], ['id'])

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.String(length=200), nullable=True))



def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('position')

    with op.batch_alter_table('home_visit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_home_visit_requested_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('requested_by_id')
        batch_op.drop_column('preferred_days')
        batch_op.drop_column('planned_time')

    with op.batch_alter_table('dossier_follower', schema=None) as batch_op:
        # SQLite's batch copy would keep the enum's CHECK and refer to the dropped column: drop it first.
        batch_op.drop_constraint(batch_op.f('ck_dossier_follower_follow_role'), type_='check')
        batch_op.drop_column('role')

    op.drop_table('dossier_rating')
    with op.batch_alter_table('dossier_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_claim_dossier_id'))

    op.drop_table('dossier_claim')
